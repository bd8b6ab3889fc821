package io.kvmclock.restore;

import java.util.List;

/**
 * What a method did and learned on the destination before the blackout, for its restore to use: per vCPU the
 * TSC rate and offset as read then (valid as long as nothing writes the vCPUs' TSC in between), whether the
 * vCPUs' pending requests were served (so their first entry takes no new master clock reference), and the
 * phases it took. {@link #NONE}: nothing was prepared.
 */
public record Preparation(List<Long> tscKhz, List<Long> tscOffsets, boolean requestsServed, List<Phase> phases) {
    public static final Preparation NONE = new Preparation(List.of(), List.of(), false, List.of());

    public Preparation {
        tscKhz = List.copyOf(tscKhz);
        tscOffsets = List.copyOf(tscOffsets);
        phases = List.copyOf(phases);
    }

    /** Whether it holds the TSC rate and offset of each of {@code vcpus} vCPUs. */
    public boolean knows(int vcpus) {
        return tscKhz.size() == vcpus && tscOffsets.size() == vcpus;
    }

    public long wallNs() {
        return phases.stream().mapToLong(Phase::wallNs).sum();
    }
}
