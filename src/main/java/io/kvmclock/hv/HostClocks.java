package io.kvmclock.hv;

/** One reading of the host's clocks; {@code tsc} is the host TSC, the others ns. */
public record HostClocks(long tsc, long monotonicRawNs, long realtimeNs) {}
