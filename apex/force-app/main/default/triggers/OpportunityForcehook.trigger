/** Sends Opportunity changes to forcehook; what and where: Forcehook_Object_Setting.Opportunity (custom metadata). */
trigger OpportunityForcehook on Opportunity (after insert, after update, after delete, after undelete) {
    ForcehookDispatcher.dispatch(Trigger.operationType, Trigger.new, Trigger.old);
}
