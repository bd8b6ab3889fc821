package io.kvmclock.cli;

/** An error to report in one line with a chosen exit code. */
public class UserError extends RuntimeException {
    private final int exitCode;

    public UserError(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public UserError(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public static UserError badInput(String message) {
        return new UserError(ExitCode.BAD_INPUT, message);
    }

    public int exitCode() {
        return exitCode;
    }
}
