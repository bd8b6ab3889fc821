package io.kvmclock.restore;

/**
 * How long precise may spend on one restore, and what it does when that time is spent: fail (the default), or
 * with {@code bestEffort} keep the best landing it verified and report its exact error.
 */
public record Budget(long ns, boolean bestEffort) {
    public static final Budget NONE = new Budget(Long.MAX_VALUE, false);

    public Budget {
        if (ns <= 0) {
            throw new IllegalArgumentException("a time budget must be positive, got " + ns + " ns");
        }
    }

    public boolean bounded() {
        return ns != Long.MAX_VALUE;
    }
}
