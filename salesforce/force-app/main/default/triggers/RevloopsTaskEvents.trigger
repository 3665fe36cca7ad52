trigger RevloopsTaskEvents on Task (after insert, after update) {
    RevloopsEvents.onTasks(Trigger.new, Trigger.isInsert ? null : (Map<Id, Task>) Trigger.oldMap);
}
