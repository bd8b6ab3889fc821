package io.kvmclock.hv;

/** A call the kernel (or the model, the same way) refused: keeps the call's name and the errno. */
public class HvException extends RuntimeException {
    private final String call;
    private final int errno;

    public HvException(String call, int errno) {
        super(call + " failed: " + Errno.describe(errno));
        this.call = call;
        this.errno = errno;
    }

    public HvException(String call, int errno, String detail) {
        super(call + " failed: " + Errno.describe(errno) + ": " + detail);
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }

    public boolean is(Errno e) {
        return errno == e.number();
    }
}
