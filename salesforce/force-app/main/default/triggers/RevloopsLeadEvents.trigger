trigger RevloopsLeadEvents on Lead (after insert, after update) {
    RevloopsEvents.onLeads(Trigger.new, Trigger.isInsert ? null : (Map<Id, Lead>) Trigger.oldMap);
}
