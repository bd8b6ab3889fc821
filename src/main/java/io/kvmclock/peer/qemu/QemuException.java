package io.kvmclock.peer.qemu;

/**
 * Something about QEMU went wrong, in one line. {@link Kind#ENVIRONMENT}: this machine cannot run it (no
 * QEMU, QEMU refusing KVM, no access to its memory); {@link Kind#FAILURE}: it ran and failed (a QMP error, a
 * failed migration, a guest that never came up).
 */
public final class QemuException extends RuntimeException {
    public enum Kind { ENVIRONMENT, FAILURE }

    private final Kind kind;

    public QemuException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public QemuException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public static QemuException environment(String message) {
        return new QemuException(Kind.ENVIRONMENT, message);
    }

    public static QemuException failure(String message) {
        return new QemuException(Kind.FAILURE, message);
    }

    public Kind kind() {
        return kind;
    }
}
