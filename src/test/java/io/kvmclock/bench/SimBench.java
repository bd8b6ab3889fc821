package io.kvmclock.bench;

import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.sim.SimVcpu;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Speed of the model. Run (after {@code ./run-tests -DskipTests} or any build of test classes):
 * <pre>
 * mvn -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp target/classes:target/test-classes:$(cat target/cp.txt) org.openjdk.jmh.Main SimBench -f 1 -wi 2 -i 3
 * </pre>
 */
@State(Scope.Thread)
@Fork(1)
public class SimBench {

    private SimHypervisor hv;
    private SimVcpu vcpu;

    @Setup(Level.Trial)
    public void setUp() {
        hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 1);
        Vm vm = hv.createVm(VmConfig.defaults());
        vcpu = (SimVcpu) vm.createVcpu(0);
        vcpu.resetToRealMode(ClockGuestAbi.CODE_GPA);
        vcpu.run();
        vcpu.run();
    }

    /** One guest kvmclock read: RDTSC plus the pvclock read from guest memory with the version check. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Warmup(iterations = 2, time = 1)
    @Measurement(iterations = 3, time = 1)
    public long guestClockRead() {
        return vcpu.guestKvmclockNs().orElseThrow();
    }

    /** A guest read after 1 us of host time passes (time line advance and timer check included). */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Warmup(iterations = 2, time = 1)
    @Measurement(iterations = 3, time = 1)
    public long guestClockReadWithElapse() {
        hv.elapse(1_000);
        return vcpu.guestKvmclockNs().orElseThrow();
    }

    /**
     * One simulated year on this machine's kind of host with a vCPU hotplug every hour (8,760 vCPUs, each
     * started and run once; vCPU 0 reads its clock every hour; the 300 s kvmclock sync runs throughout).
     */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 5)
    public long yearWithHourlyHotplug() {
        try (SimHypervisor y = SimHypervisor.create(SimHostConfig.pvmIntel202611().withMaxVcpus(8_761), 2)) {
            Vm vm = y.createVm(VmConfig.defaults());
            SimVcpu v0 = (SimVcpu) vm.createVcpu(0);
            v0.resetToRealMode(ClockGuestAbi.CODE_GPA);
            long sum = 0;
            for (int h = 1; h <= 8_760; h++) {
                y.elapse(3_600_000_000_000L);
                Vcpu v = vm.createVcpu(h);
                v.resetToRealMode(ClockGuestAbi.CODE_GPA);
                sum += ((VcpuExit.IoOut) v.run()).value();
                v0.run();
                v0.run();
                sum += v0.guestKvmclockNs().orElseThrow();
            }
            return sum;
        }
    }
}
