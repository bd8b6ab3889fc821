package io.kvmclock.hv;

/** The errno values KVM's clock ioctls return, with their names. */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), EINTR(4), EIO(5), ENXIO(6), EBADF(9), EAGAIN(11), ENOMEM(12), EACCES(13),
    EFAULT(14), EBUSY(16), EEXIST(17), ENODEV(19), EINVAL(22), ENOTTY(25), ENOSPC(28), ERANGE(34),
    ENOSYS(38), EOPNOTSUPP(95);

    private final int number;

    Errno(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    /** The name for {@code number}, or "errno N" for one not listed. */
    public static String describe(int number) {
        for (Errno e : values()) {
            if (e.number == number) {
                return e.name() + " (" + number + ")";
            }
        }
        return "errno " + number;
    }
}
