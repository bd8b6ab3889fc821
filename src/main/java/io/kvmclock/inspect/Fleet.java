package io.kvmclock.inspect;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every VM on the host, looked at again on each {@link #refresh}: a VM seen before is re-validated where its
 * pvclocks were found (a few 32-byte reads), a new one is scanned, one whose scan found nothing is scanned
 * again only after {@code rescanAfter}, and a VM that exited (or whose pid now belongs to another process)
 * is dropped. That keeps a Prometheus scrape cheap.
 */
public final class Fleet {

    /** One VM as last seen: its inspection, or why there is none. */
    public record Entry(VmProcess process, Optional<Inspection> inspection, String problem, long checkedAtNanos) {}

    private final Inspector inspector;
    private final long rescanAfterNanos;
    private final Map<Long, Entry> entries = new HashMap<>();

    public Fleet(Inspector inspector, Duration rescanAfter) {
        this.inspector = inspector;
        this.rescanAfterNanos = rescanAfter.toNanos();
    }

    public synchronized List<Entry> refresh() {
        List<VmProcess> now = ProcFs.all().vms();
        Map<Long, Entry> next = new HashMap<>();
        for (VmProcess p : now) {
            Entry old = entries.get(p.pid());
            boolean same = old != null && old.process().started().equals(p.started());
            next.put(p.pid(), look(p, same ? Optional.of(old) : Optional.empty()));
        }
        entries.clear();
        entries.putAll(next);
        List<Entry> out = new ArrayList<>(next.values());
        out.sort((a, b) -> Long.compare(a.process().pid(), b.process().pid()));
        return out;
    }

    private Entry look(VmProcess p, Optional<Entry> old) {
        long t = System.nanoTime();
        try {
            if (old.isPresent() && old.get().inspection().isPresent()) {
                return new Entry(p, Optional.of(inspector.revalidate(old.get().inspection().get(),
                        PvclockScanner.Progress.NONE)), "", t);
            }
            if (old.isPresent() && t - old.get().checkedAtNanos() < rescanAfterNanos) {
                return new Entry(p, Optional.empty(), old.get().problem(), old.get().checkedAtNanos());
            }
            return new Entry(p, Optional.of(inspector.inspect(p, Optional.empty(), PvclockScanner.Progress.NONE)), "", t);
        } catch (InspectException e) {
            return new Entry(p, Optional.empty(), e.getMessage(), t);
        }
    }
}
