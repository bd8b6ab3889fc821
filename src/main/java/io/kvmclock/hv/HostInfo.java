package io.kvmclock.hv;

/** Who the host is: restore compares these to tell a live update on the same host from a migration. */
public record HostInfo(String kernel, int kvmApiVersion, long tscKhz, String clocksource, String bootId) {}
