/**
 * Turns Forcehook_Change__e events (published after commit by ForcehookDispatcher) into callout jobs.
 * Runs as the Automated Process user unless a PlatformEventSubscriberConfig names another; that user
 * needs the Forcehook_Sender permission set.
 */
trigger ForcehookChangeSubscriber on Forcehook_Change__e (after insert) {
    ForcehookChangeConsumer.consume(Trigger.new);
}
