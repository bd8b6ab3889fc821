package io.kvmclock.cli;

/** The process exit codes every command uses. */
public final class ExitCode {
    private ExitCode() {}

    public static final int OK = 0;
    /** The operation ran and failed (a kernel refusal, a bound not reached). */
    public static final int FAILURE = 1;
    /** The input is wrong: an argument, a file. */
    public static final int BAD_INPUT = 2;
    /** The machine cannot do it: no /dev/kvm, no permission, a missing kernel feature. */
    public static final int ENVIRONMENT = 3;
}
