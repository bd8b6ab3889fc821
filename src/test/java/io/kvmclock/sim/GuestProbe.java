package io.kvmclock.sim;

import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.time.PvclockTimeInfo;

/**
 * A tiny host-side reader of the clock guest, using only the hv interfaces (so the same code can drive the
 * real backend): two KVM_RUN exits give one guest TSC, guest memory gives the pvclock the guest sees.
 */
final class GuestProbe {
    record Reading(long tsc, PvclockTimeInfo pvclock) {
        long kvmclock() {
            return pvclock.read(tsc);
        }
    }

    private GuestProbe() {}

    static void start(Vcpu v) {
        v.resetToRealMode(ClockGuestAbi.CODE_GPA);
    }

    static long readTsc(Vcpu v) {
        VcpuExit lo = v.run();
        VcpuExit hi = v.run();
        if (lo instanceof VcpuExit.IoOut(int p1, int s1, long l) && p1 == ClockGuestAbi.PORT_TSC_LO && s1 == 4
                && hi instanceof VcpuExit.IoOut(int p2, int s2, long h) && p2 == ClockGuestAbi.PORT_TSC_HI && s2 == 4) {
            return (h << 32) | l;
        }
        throw new AssertionError("unexpected exits " + lo + " then " + hi);
    }

    static PvclockTimeInfo pvclock(Vm vm) {
        return PvclockTimeInfo.decode(vm.memory().read(ClockGuestAbi.PVCLOCK_GPA, PvclockTimeInfo.SIZE));
    }

    static Reading read(Vm vm, Vcpu v) {
        long tsc = readTsc(v);
        return new Reading(tsc, pvclock(vm));
    }
}
