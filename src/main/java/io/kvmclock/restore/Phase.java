package io.kvmclock.restore;

/**
 * One part of a restore: its wall time, the share of that spent inside KVM ioctls (the kernel's part; the rest
 * is the project's Java around the calls), and how many times it ran.
 */
public record Phase(String name, long wallNs, long kernelNs, int calls) {
    public Phase {
        if (wallNs < 0 || kernelNs < 0 || calls < 0) {
            throw new IllegalArgumentException("a phase cannot take negative time or calls: " + name);
        }
    }

    /** The wall time outside the kernel: Java, struct packing, the method's own logic. */
    public long javaNs() {
        return Math.max(0, wallNs - kernelNs);
    }
}
