/** Sends Contact changes to forcehook; what and where: Forcehook_Object_Setting.Contact (custom metadata). */
trigger ContactForcehook on Contact (after insert, after update, after delete, after undelete) {
    ForcehookDispatcher.dispatch(Trigger.operationType, Trigger.new, Trigger.old);
}
