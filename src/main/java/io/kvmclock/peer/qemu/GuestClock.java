package io.kvmclock.peer.qemu;

import io.kvmclock.peer.qemu.Firmware.Gap;
import io.kvmclock.peer.qemu.Firmware.Header;
import io.kvmclock.peer.qemu.Firmware.Sample;
import io.kvmclock.time.Units;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The host side of the firmware's protocol ({@link Firmware}): consistent heartbeats and the gap events. */
public final class GuestClock implements AutoCloseable {
    /** How long a heartbeat may stay half-written (the vCPU preempted mid-publish on a busy host). */
    private static final long CONSISTENT_WITHIN_NS = 2_000_000_000L;

    private final GuestRam ram;

    public GuestClock(GuestRam ram) {
        this.ram = ram;
    }

    public GuestRam ram() {
        return ram;
    }

    /** A heartbeat read while the guest was not writing it, with the host's CLOCK_MONOTONIC around the read. */
    public record Beat(long hostNs, long seq, long eventCount, Sample sample) {}

    /**
     * The header with a heartbeat the guest was not in the middle of writing (its sequence even and the same
     * just after), and the host time of the read (midway between before and after it).
     */
    public Beat beat() throws IOException {
        long deadline = System.nanoTime() + CONSISTENT_WITHIN_NS;
        while (true) {
            long t0 = System.nanoTime();
            byte[] h = ram.read(Firmware.HEADER_GPA, Firmware.HEADER_SIZE);
            long seqAfter = heartbeatSeq();
            long t1 = System.nanoTime();
            Header hd = Header.decode(h);
            if (hd.ready() && (hd.heartbeatSeq() & 1) == 0 && hd.heartbeatSeq() == seqAfter) {
                return new Beat(t0 + (t1 - t0) / 2, hd.heartbeatSeq(), hd.eventCount(), hd.heartbeat());
            }
            if (t1 > deadline) {
                throw QemuException.failure("the guest's heartbeat stayed half-written for "
                        + CONSISTENT_WITHIN_NS / 1_000_000 + " ms (a stopped guest?)");
            }
            Thread.onSpinWait();
        }
    }

    /** The heartbeat sequence (one u32 store by the guest: readable at any time, stopped mid-publish too). */
    public long heartbeatSeq() throws IOException {
        return u32(ram.read(Firmware.HEADER_GPA + Firmware.OFF_HEARTBEAT_SEQ, 4), 0);
    }

    /** The number of gap events written so far (one u32 store, readable at any time). */
    public long eventCount() throws IOException {
        return u32(ram.read(Firmware.HEADER_GPA + Firmware.OFF_EVENT_COUNT, 4), 0);
    }

    /**
     * The gap events numbered {@code from} (inclusive) to {@code to} (exclusive); only the last
     * {@link Firmware#EVENT_SLOTS} are still in the ring.
     */
    public List<Gap> gaps(long from, long to) throws IOException {
        long first = Math.max(from, to - Firmware.EVENT_SLOTS);
        List<Gap> out = new ArrayList<>();
        for (long i = first; i < to; i++) {
            int slot = (int) (i % Firmware.EVENT_SLOTS);
            out.add(Gap.decode(i, ram.read(Firmware.EVENTS_GPA + (long) slot * Firmware.EVENT_SIZE, Firmware.EVENT_SIZE)));
        }
        return out;
    }

    /** Waits until the guest has taken a heartbeat after {@code seq}: it is running. */
    public Beat awaitRunning(long seq, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Beat b;
        do {
            b = beat();
            if (b.seq() != seq) {
                return b;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() < deadline);
        throw QemuException.failure("the guest did not run again within " + timeout.toMillis() + " ms");
    }

    /** How close in host time a fresh heartbeat must be bracketed, and two of them must agree. */
    static final long FRESH_NS = 200_000;

    /**
     * A heartbeat the guest published just now, tied to host time within {@link #FRESH_NS}: the host polls
     * until the sequence changes between two reads close together (the heartbeat was written between them),
     * then checks against the next such heartbeat that guest TSC and host time advanced alike (else the vCPU
     * was preempted between its RDTSC and the publish, and it tries again). A heartbeat read at any moment
     * can be as old as the vCPU thread's last preemption (tens of ms on a busy host). It fails when the guest
     * publishes nothing for {@code stall}, or tries for {@link FreshWait#PATIENCE} while the guest runs.
     */
    public Beat freshBeat(long tscKhz, Duration stall) throws IOException {
        Beat first = beat();
        FreshWait wait = new FreshWait(first.hostNs(), first.seq(), stall, FreshWait.PATIENCE);
        Beat a = nextPublished(first, wait);
        while (true) {
            Beat b = nextPublished(beat(), wait);
            long host = b.hostNs() - a.hostNs();
            long guest = Units.cyclesToNs(b.sample().tsc() - a.sample().tsc(), tscKhz);
            if (Math.abs(guest - host) <= FRESH_NS) {
                return a;
            }
            a = b;
        }
    }

    private Beat nextPublished(Beat from, FreshWait wait) throws IOException {
        Beat prev = from;
        while (true) {
            Beat b = beat();
            wait.saw(b.seq(), b.hostNs());
            if (b.seq() != prev.seq() && b.hostNs() - prev.hostNs() <= FRESH_NS) {
                return new Beat(prev.hostNs() + (b.hostNs() - prev.hostNs()) / 2, b.seq(), b.eventCount(), b.sample());
            }
            prev = b;
        }
    }

    static long u32(byte[] b, int at) {
        return Integer.toUnsignedLong(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(at));
    }

    /** Closes the guest RAM's /proc/PID/mem. */
    @Override
    public void close() throws IOException {
        ram.close();
    }
}
