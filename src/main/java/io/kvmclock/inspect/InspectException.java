package io.kvmclock.inspect;

/**
 * Why a VM could not be inspected, in one line for the user. The {@link Problem} tells the CLI which exit
 * code it is (bad input, environment, failure) without looking at the message.
 */
public final class InspectException extends RuntimeException {

    public enum Problem {
        /** No process with that pid (or it is gone). */
        NO_SUCH_PROCESS,
        /** The process holds no KVM VM. */
        NOT_A_VMM,
        /** /proc/PID/fd, maps or mem is not readable for this user. */
        NO_PERMISSION,
        /** A /proc file failed to read for another reason (the message says which). */
        UNREADABLE,
        /** Guest RAM was read and holds no pvclock this host could have written. */
        NO_PVCLOCK,
        /** The VMM exited while it was being read. */
        EXITED
    }

    private final Problem problem;

    public InspectException(Problem problem, String message) {
        super(message);
        this.problem = problem;
    }

    public InspectException(Problem problem, String message, Throwable cause) {
        super(message, cause);
        this.problem = problem;
    }

    public Problem problem() {
        return problem;
    }
}
