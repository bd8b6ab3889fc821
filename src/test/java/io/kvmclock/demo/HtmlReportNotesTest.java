package io.kvmclock.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.HostInfo;
import io.kvmclock.restore.DocumentedMethod;
import io.kvmclock.restore.QemuMethod;
import io.kvmclock.time.TimeScale;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's notes section from results built by hand: counts, order, the cap, escaping, and nothing to say. */
class HtmlReportNotesTest {

    private static TrialResult measured(String... notes) {
        return new TrialResult.Measured(0, 0, 0, 10, false, false, new TrialResult.Reported(1, false, List.of(notes), false),
                TrialResult.Timing.NONE);
    }

    /** A host made up for the page: only the notes section is under test, not anything the rate gives. */
    private static final long MADE_UP_KHZ = 1_000_000;

    private static String page(Path dir, List<MethodResult> methods) throws Exception {
        DemoResult r = new DemoResult("sim", new HostInfo("6.18-test", 12, MADE_UP_KHZ, "tsc", "boot"), 3, 0, methods,
                new GuestClockSeen(0, 0, TimeScale.forGuestKhz(MADE_UP_KHZ), 1));
        return Files.readString(HtmlReport.write(dir, r));
    }

    @Test
    void notesAreCountedMostFrequentFirstCappedAndEscaped(@TempDir Path dir) throws Exception {
        List<TrialResult> trials = new ArrayList<>();
        trials.add(measured("rare <one>", "common"));
        trials.add(measured("common", "b"));
        trials.add(measured("common", "c", "d", "e"));
        trials.add(new TrialResult.Failed("KVM_SET_CLOCK failed with EIO", 4));
        String html = page(dir, List.of(new MethodResult.Ran(new QemuMethod(), trials)));
        int common = html.indexOf("<li>note (3/4 trials): common</li>");
        int rare = html.indexOf("<li>note (1/4 trials): rare &lt;one&gt;</li>");
        assertTrue(common > 0 && rare > common, html);
        assertTrue(html.contains("<li>... 2 more distinct notes (the JSON lists them all)</li>"), html);
        assertTrue(html.contains("<li>failed: KVM_SET_CLOCK failed with EIO</li>"), html);
        assertFalse(html.contains("KVM_SET_CLOCK rounds"), "qemu does not iterate: " + html);
    }

    @Test
    void aMethodWithNothingToSayAndOneNotRunAddNoSection(@TempDir Path dir) throws Exception {
        String html = page(dir, List.of(new MethodResult.Ran(new DocumentedMethod(), List.of(measured(), measured())),
                new MethodResult.NotRun(new DocumentedMethod(), "needs KVM_CAP_VCPU_ATTRIBUTES")));
        assertFalse(html.contains("What the methods noted"), html);
        assertTrue(html.contains("<td colspan='7' class='na'>needs KVM_CAP_VCPU_ATTRIBUTES</td>"), html);
    }

    @Test
    void notesByCountKeepsFirstSeenOrderAmongEquals() {
        MethodResult.Ran r = new MethodResult.Ran(new QemuMethod(), List.of(measured("x", "y"), measured("y", "z")));
        assertEquals(List.of("y", "x", "z"), r.notesByCount().stream().map(e -> e.getKey()).toList());
        assertEquals(2L, r.notesByCount().getFirst().getValue());
    }
}
