package io.kvmclock.bench;

import io.kvmclock.inspect.ChildGuest;
import io.kvmclock.inspect.ProcFs;
import io.kvmclock.inspect.PvclockScanner;
import io.kvmclock.inspect.TargetMemory;
import io.kvmclock.inspect.VmProcess;
import io.kvmclock.peer.qemu.QemuProcess;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The pvclock scan of a 4 GiB guest's RAM, the whole of it (as {@code kvmclock inspect} does the first time):
 * {@code child-filled} is the clock guest in another JVM with all 4 GiB written (every page present and read:
 * the worst case), {@code qemu} is Debian's QEMU with {@code -m 4G} running the clock firmware (pages the guest
 * never touched are skipped through pagemap). GiB/s = 4 / the time per scan.
 * {@code bench/run-jmh ScanBench -wi 1 -i 5 -f 1}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ScanBench {
    @Param({"child-filled", "qemu"})
    public String target;

    private AutoCloseable owner;
    private VmProcess process;
    private TargetMemory mem;
    private PvclockScanner scanner;

    @Setup(Level.Trial)
    public void start() throws Exception {
        long khz;
        if (target.equals("qemu")) {
            QemuProcess q = QemuProcess.start(QemuProcess.Options.defaults().withRamMiB(4096));
            owner = q;
            q.guestRam(Duration.ofSeconds(30));
            process = ProcFs.read(q.pid());
            try (var hv = io.kvmclock.kvm.KvmHypervisor.open()) {
                khz = hv.host().tscKhz();
            }
        } else {
            ChildGuest c = ChildGuest.start("kvmclock", "4096", "fill");
            owner = c;
            process = ProcFs.read(c.pid());
            khz = c.tscKhz();
        }
        mem = new TargetMemory(process);
        scanner = new PvclockScanner(khz, false);
    }

    @Benchmark
    public int scanAll() {
        PvclockScanner.Result r = scanner.scan(mem, process.guestRam().all(), PvclockScanner.Progress.NONE);
        if (r.found().isEmpty()) {
            throw new IllegalStateException("no pvclock found in " + target);
        }
        return r.found().size();
    }

    /** The ceiling: the same mappings read into the same 4 MiB buffer with process_vm_readv, not scanned. */
    @Benchmark
    public long readOnly() {
        java.nio.ByteBuffer buf = readBuffer;
        long total = 0;
        for (var m : process.guestRam().all()) {
            for (long at = m.start(); at < m.end(); at += buf.capacity()) {
                buf.clear().limit((int) Math.min(buf.capacity(), m.end() - at));
                try {
                    total += io.kvmclock.kvm.ProcessMemoryReader.read(process.pid(), at, buf);
                } catch (io.kvmclock.hv.HvException unmapped) {
                    // a guard page or a hole: the scan skips it too
                }
            }
        }
        return total;
    }

    private final java.nio.ByteBuffer readBuffer = java.nio.ByteBuffer.allocateDirect(4 << 20);

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        mem.close();
        owner.close();
    }
}
