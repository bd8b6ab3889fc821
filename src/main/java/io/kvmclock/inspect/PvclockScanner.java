package io.kvmclock.inspect;

import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds pvclock_vcpu_time_info structures in a VMM's guest RAM without the guest's help, page by page.
 * A structure counts only if this host's KVM could have written it (kvm_setup_guest_pvclock): an even,
 * non-zero version, zero pads, no flags but TSC_STABLE and GUEST_STOPPED, a mul/shift that is exactly
 * kvm_get_time_scale of this host's tsc_khz or, where the host's KVM can scale a guest's TSC, of some other
 * whole kHz rate,
 * and a positive system_time and tsc_timestamp. KVM will not place one across a page (the pfn cache maps one
 * page), and guests align them, so each page is tried at every 8-byte offset that leaves 32 bytes in it.
 * Pages the process never touched (pagemap) are skipped: they read as zeros.
 */
public final class PvclockScanner {
    /** Rates a scaled guest TSC may encode; far outside what KVM accepts for KVM_SET_TSC_KHZ anyway. */
    static final long MIN_KHZ = 100_000;
    static final long MAX_KHZ = 20_000_000;
    /** 256 KiB a read: small enough to stay in the L2 cache from the copy to the scan (docs/inspect.md). */
    private static final int CHUNK_PAGES = 64;
    private static final int WORDS_PER_PAGE = TargetMemory.PAGE / 8;
    private static final long MASK_FLAGS_HIGH_AND_PAD = 0xFFFF_FC00_0000_0000L;
    private static final long MUL_TOP_BIT = 0x8000_0000L;

    /** Told how far a scan got, for progress on stderr. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (done, total) -> {};

        void scanned(long doneBytes, long totalBytes);
    }

    /**
     * One structure found: where (the VMM's virtual address and the mapping), what, and the TSC rate its
     * mul/shift encodes ({@code hostRate} when it is this host's tsc_khz, as on a guest without TSC scaling).
     */
    public record Found(long hva, Mapping mapping, PvclockTimeInfo pvclock, long encodedKhz, boolean hostRate) {
        public long mappingOffset() {
            return hva - mapping.start();
        }
    }

    /** What a scan read: bytes of mappings covered, bytes present and read, and how long it took. */
    public record Stats(long mappedBytes, long readBytes, long nanos) {
        public double gibPerSecond(long bytes) {
            return nanos == 0 ? 0 : bytes / (double) (1L << 30) / (nanos / 1e9);
        }
    }

    public record Result(List<Found> found, Stats stats) {}

    private final long hostKhz;
    private final TimeScale hostScale;
    private final boolean scaledRates;

    /** {@code scaledRates}: accept rates other than the host's (only where KVM can scale a guest's TSC). */
    public PvclockScanner(long hostKhz, boolean scaledRates) {
        this.hostKhz = hostKhz;
        this.hostScale = TimeScale.forGuestKhz(hostKhz);
        this.scaledRates = scaledRates;
    }

    public Result scan(TargetMemory mem, List<Mapping> mappings, Progress progress) {
        long total = mappings.stream().mapToLong(Mapping::size).sum();
        long start = System.nanoTime();
        long done = 0;
        long read = 0;
        List<Found> found = new ArrayList<>();
        ByteBuffer data = ByteBuffer.allocateDirect(CHUNK_PAGES * TargetMemory.PAGE).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer pm = ByteBuffer.allocateDirect(CHUNK_PAGES * 8);
        boolean[] present = new boolean[CHUNK_PAGES];
        long[] words = new long[CHUNK_PAGES * WORDS_PER_PAGE];
        for (Mapping m : mappings) {
            for (long at = m.start(); at < m.end(); ) {
                int pages = (int) Math.min(CHUNK_PAGES, (m.end() - at) / TargetMemory.PAGE);
                mem.present(at, pages, present, pm);
                for (int i = 0; i < pages; ) {
                    if (!present[i]) {
                        i++;
                        continue;
                    }
                    int j = i;
                    while (j < pages && present[j]) {
                        j++;
                    }
                    long runAt = at + (long) i * TargetMemory.PAGE;
                    data.clear().limit((j - i) * TargetMemory.PAGE);
                    if (mem.read(runAt, data)) {
                        read += data.limit();
                        scanRun(data, j - i, runAt, m, found, words);
                    }
                    i = j;
                }
                at += (long) pages * TargetMemory.PAGE;
                done += (long) pages * TargetMemory.PAGE;
                progress.scanned(done, total);
            }
        }
        return new Result(found, new Stats(total, read, System.nanoTime() - start));
    }

    /**
     * The pages are copied into a long[] first: a plain array loop is several times faster than a direct
     * buffer's checked getLong per word, and the word that holds mul, shift, flags and the pad rejects almost
     * everything at once (pad and high flag bits zero, mul's top bit set as kvm_get_time_scale leaves it).
     */
    private void scanRun(ByteBuffer data, int pages, long address, Mapping m, List<Found> found, long[] words) {
        int n = pages * WORDS_PER_PAGE;
        data.position(0).limit(pages * TargetMemory.PAGE);
        data.asLongBuffer().get(words, 0, n);
        for (int base = 0; base < n; base += WORDS_PER_PAGE) {
            for (int i = base + 3; i < base + WORDS_PER_PAGE; i++) {
                long w3 = words[i];
                if ((w3 & MASK_FLAGS_HIGH_AND_PAD) != 0 || (w3 & MUL_TOP_BIT) == 0) {
                    continue;
                }
                long w0 = words[i - 3];
                if ((w0 & 1) != 0 || w0 == 0 || (w0 >>> 32) != 0) {
                    continue;
                }
                byte[] raw = new byte[PvclockTimeInfo.SIZE];
                data.get((i - 3) * 8, raw);
                check(address + (i - 3) * 8L, raw, m).ifPresent(found::add);
            }
        }
    }

    /** The full check of 32 bytes at {@code hva}; also what re-validation of a cached location uses. */
    public Optional<Found> check(long hva, byte[] raw, Mapping m) {
        if (raw.length != PvclockTimeInfo.SIZE) {
            return Optional.empty();
        }
        PvclockTimeInfo p = PvclockTimeInfo.decode(raw);
        if ((p.version() & 1) != 0 || p.version() == 0 || !p.padsZero()
                || (p.flags() & ~PvclockTimeInfo.KNOWN_FLAGS) != 0
                || p.systemTime() <= 0 || p.tscTimestamp() == 0 || p.mul() == 0) {
            return Optional.empty();
        }
        TimeScale s = p.scale();
        if (s.equals(hostScale)) {
            return Optional.of(new Found(hva, m, p, hostKhz, true));
        }
        if (!scaledRates) {
            return Optional.empty();
        }
        return scaledKhz(s).map(khz -> new Found(hva, m, p, khz, false));
    }

    /** The whole-kHz rate whose kvm_get_time_scale is exactly {@code s}, if one in range is. */
    static Optional<Long> scaledKhz(TimeScale s) {
        long hz = s.toHz();
        long khz = (hz + 500) / 1000;
        if (khz < MIN_KHZ || khz > MAX_KHZ) {
            return Optional.empty();
        }
        // hvclock_to_hz loses a little to truncation: the exact rate is within a few kHz of it
        for (long k = khz - 2; k <= khz + 2; k++) {
            if (TimeScale.forGuestKhz(k).equals(s)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }
}
