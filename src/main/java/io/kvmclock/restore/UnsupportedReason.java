package io.kvmclock.restore;

/**
 * Why a method cannot run: what is missing, and whether the kernel lacks it (found from the capabilities before
 * any trial) or the restore found it ruled out here (found by the restore itself). {@link #describe} is the one
 * place the words "unsupported" are written for the user.
 */
public record UnsupportedReason(Scope scope, String what) {
    public enum Scope { KERNEL, RESTORE }

    /** The kernel lacks what the method needs. */
    public static UnsupportedReason onThisKernel(String what) {
        return new UnsupportedReason(Scope.KERNEL, what);
    }

    /** The restore found the method cannot run here, e.g. across a rate change the host cannot scale. */
    public static UnsupportedReason inThisRestore(String what) {
        return new UnsupportedReason(Scope.RESTORE, what);
    }

    /** As the user reads it: the demo's text, JSON and report, a scenario's detail. */
    public String describe() {
        return switch (scope) {
            case KERNEL -> "unsupported on this kernel: " + what;
            case RESTORE -> "unsupported: " + what;
        };
    }
}
