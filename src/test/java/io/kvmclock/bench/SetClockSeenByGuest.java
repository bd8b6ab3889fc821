package io.kvmclock.bench;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.KvmHypervisor;
import java.util.Arrays;

/**
 * Measures what the clock guest reads after KVM_SET_CLOCK(K): guest kvmclock - K at its next TSC report, the
 * host window around ioctl + report (System.nanoTime, CLOCK_MONOTONIC: over microseconds its ppm-level rate
 * difference to the raw clock is far below 1 ns), and KVM_GET_CLOCK's clock minus the guest's pvclock at
 * host_tsc + offset. Prints min/p50/p99/max over N trials (default 200):
 * {@code bench/run-jmh -l >/dev/null; java --enable-native-access=ALL-UNNAMED -cp target/test-classes:target/classes:$(cat target/test-classpath.txt) io.kvmclock.bench.SetClockSeenByGuest 200}
 */
public final class SetClockSeenByGuest {
    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        long[] seen = new long[n];
        long[] window = new long[n];
        long[] getClock = new long[n];
        try (Hypervisor hv = KvmHypervisor.open(); Vm vm = hv.createVm(VmConfig.defaults())) {
            ClockGuest g = ClockGuest.boot(vm);
            g.readTsc();
            for (int i = 0; i < n; i++) {
                long k = 1_000_000_000_000L + i * 1_000_000_000L;
                long t0 = System.nanoTime();
                vm.setClock(new ClockData(k, 0, 0, 0));
                long tsc = g.readTsc();
                long t1 = System.nanoTime();
                seen[i] = g.kvmclockAt(tsc) - k;
                window[i] = t1 - t0;
                ClockData c = vm.getClock();
                getClock[i] = g.kvmclockAt(c.hostTsc() + g.vcpu().getTscOffset()) - c.clock();
            }
        }
        print("guest kvmclock - K (ns)", seen);
        print("window: before SET_CLOCK .. after report (ns)", window);
        print("guest pvclock at host_tsc+offset - KVM_GET_CLOCK clock (ns)", getClock);
    }

    private static void print(String what, long[] values) {
        long[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        System.out.printf("%-60s min %d  p50 %d  p99 %d  max %d  (n=%d)%n", what, s[0], s[n / 2], s[n * 99 / 100], s[n - 1], n);
    }
}
