trigger RevloopsAccountEvents on Account (after insert, after update) {
    RevloopsEvents.onAccounts(Trigger.new);
}
