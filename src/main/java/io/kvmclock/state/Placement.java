package io.kvmclock.state;

/** Where a restore lands relative to the capture, and the evidence for it in one line. */
public record Placement(Kind kind, String why) {

    public enum Kind {
        /** The same kernel boot: host TSC, raw clock and kvmclock base all continue; only the VMM changed. */
        SAME_BOOT,
        /** The same machine after a kexec: the host TSC kept counting, but the kernel (and its raw clock base) is new. */
        KEXEC,
        /** Another host, or nothing proves it is the same one: host TSC values are unrelated. */
        MIGRATION;

        /** SAME_BOOT and KEXEC are live updates: the guest's TSC can continue from the host TSC as it is. */
        public boolean isLiveUpdate() {
            return this != MIGRATION;
        }
    }
}
