package io.kvmclock.demo;

import io.kvmclock.hv.HostInfo;
import java.util.List;

/** A whole demo run. */
public record DemoResult(String backend, HostInfo host, int trials, long downtimeNs, List<MethodResult> methods,
                         GuestClockSeen guestClock) {}
