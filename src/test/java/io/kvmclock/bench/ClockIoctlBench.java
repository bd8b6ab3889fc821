package io.kvmclock.bench;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.KvmHypervisor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of the clock ioctls through the FFM binding on real KVM (each call includes its confined arena and
 * errno segment). Run with bench/run-jmh, e.g. {@code bench/run-jmh ClockIoctlBench -wi 2 -i 3 -f 1}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ClockIoctlBench {
    private Hypervisor hv;
    private Vm vm;
    private Vcpu vcpu;
    private ClockGuest guest;
    private long offset;
    private ClockData clock;

    @Setup(Level.Trial)
    public void setUp() {
        hv = KvmHypervisor.open();
        vm = hv.createVm(VmConfig.defaults());
        guest = ClockGuest.boot(vm);
        vcpu = guest.vcpu();
        guest.readTsc();
        offset = vcpu.getTscOffset();
        clock = new ClockData(vm.getClock().clock(), 0, 0, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        vm.close();
        hv.close();
    }

    @Benchmark
    public ClockData getClock() {
        return vm.getClock();
    }

    /** Sets the same value each time: every call still takes a new master clock reference. */
    @Benchmark
    public void setClock() {
        vm.setClock(clock);
    }

    @Benchmark
    public long getTscOffset() {
        return vcpu.getTscOffset();
    }

    @Benchmark
    public void setTscOffset() {
        vcpu.setTscOffset(offset);
    }

    /** One KVM_RUN: enter the guest, which runs to its next OUT, and back. */
    @Benchmark
    public VcpuExit kvmRunRoundTrip() {
        return vcpu.run();
    }

    /** readHostClocks: KVM_GET_CLOCK on the clock VM bracketed by two clock_gettime(CLOCK_MONOTONIC_RAW). */
    @Benchmark
    public HostClocks readHostClocks() {
        return hv.readHostClocks();
    }

    /** The timestamp every phase of a restore is bracketed by (two per phase). */
    @Benchmark
    public long stopwatchNs() {
        return hv.stopwatchNs();
    }

    /** CLOCK_MONOTONIC_RAW through the binding (a downcall without arena or errno capture). */
    @Benchmark
    public long monotonicRawNs() {
        return hv.monotonicRawNs();
    }

    /** KVM_RUN with a signal pending on a vCPU with nothing to serve: the floor of Vcpu.serveRequests. */
    @Benchmark
    public void serveRequests() {
        vcpu.serveRequests();
    }
}
