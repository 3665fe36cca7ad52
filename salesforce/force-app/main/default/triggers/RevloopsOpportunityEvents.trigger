trigger RevloopsOpportunityEvents on Opportunity (after insert, after update) {
    RevloopsEvents.onOpportunities(Trigger.new, Trigger.isInsert ? null : (Map<Id, Opportunity>) Trigger.oldMap);
}
