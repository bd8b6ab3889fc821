package io.kvmclock.sim;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The model tests' short names for {@link ClockGuest} on a vCPU they created themselves: the guest code and the
 * reading protocol are ClockGuest's (the same the real backend runs); this only remembers which guest runs on
 * which model vCPU.
 */
final class GuestProbe {
    record Reading(long tsc, PvclockTimeInfo pvclock) {
        long kvmclock() {
            return pvclock.read(tsc);
        }
    }

    private static final Map<Vcpu, ClockGuest> GUESTS = new WeakHashMap<>();

    private GuestProbe() {}

    static ClockGuest start(Vcpu v) {
        ClockGuest g = ClockGuest.boot(((SimVcpu) v).vm, v);
        GUESTS.put(v, g);
        return g;
    }

    private static ClockGuest guest(Vcpu v) {
        ClockGuest g = GUESTS.get(v);
        if (g == null) {
            throw new IllegalStateException("vCPU " + v.id() + " runs no clock guest: call start first");
        }
        return g;
    }

    static long readTsc(Vcpu v) {
        return guest(v).readTsc();
    }

    /** The pvclock in {@code vm}'s memory, read with ClockGuest's version protocol through any of its guests. */
    static PvclockTimeInfo pvclock(Vm vm) {
        for (Vcpu v : vm.vcpus()) {
            ClockGuest g = GUESTS.get(v);
            if (g != null) {
                return g.readPvclock();
            }
        }
        throw new IllegalStateException("no clock guest runs in this VM");
    }

    static Reading read(Vm vm, Vcpu v) {
        long tsc = readTsc(v);
        return new Reading(tsc, guest(v).readPvclock());
    }
}
