/** Sends Account changes to forcehook; what and where: Forcehook_Object_Setting.Account (custom metadata). */
trigger AccountForcehook on Account (after insert, after update, after delete, after undelete) {
    ForcehookDispatcher.dispatch(Trigger.operationType, Trigger.new, Trigger.old);
}
