package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.drift.Durations;
import io.kvmclock.drift.SeedFigure;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "seed004",
        mixinStandardHelpOptions = true,
        description = {
            "Which host frequencies give a reported 4,502,145 ns step after ~40 h.",
            "",
            "Which host frequencies give the figure reported with the masterclock_sync_period",
            "RFC: a step of exactly 4,502,145 ns (either sign) when the new master clock",
            "reference comes 40 h +- 1 h after",
            "the previous one. Criterion: some host cycle count c in [39 h, 41 h] x",
            "tsc_khz x 1000 has |raw(c) - pvclock(c)| = target, exactly. From 1 GHz up",
            "|step| changes by at most 1 ns per cycle, so it takes every value between",
            "its values at the window's ends; near-misses within 2 ns of an end are",
            "scanned cycle by cycle. Also counted: frequencies where a whole second in",
            "the window gives the target exactly."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock drift seed004",
            "  kvmclock drift seed004 --from 2.5GHz --to 2.7GHz --list 50 --json"
        })
final class DriftSeedCommand implements Callable<Integer> {

    @Option(names = "--from", converter = FrequencyConverter.class, defaultValue = "1GHz", paramLabel = "FREQ",
            description = "Lowest frequency (default 1GHz, the lowest allowed).")
    long fromKhz;

    @Option(names = "--to", converter = FrequencyConverter.class, defaultValue = "5GHz", paramLabel = "FREQ",
            description = "Highest frequency (default 5GHz).")
    long toKhz;

    @Option(names = "--step", defaultValue = "1kHz", paramLabel = "FREQ", description = "Resolution (default 1kHz).")
    String step;

    @Option(names = "--target", defaultValue = "4502145", paramLabel = "NS", description = "Step magnitude (default 4502145).")
    long targetNs;

    @Option(names = "--around", converter = DurationConverter.class, defaultValue = "40h", paramLabel = "DURATION",
            description = "Centre of the window (default 40h).")
    long around;

    @Option(names = "--tolerance", converter = DurationConverter.class, defaultValue = "1h", paramLabel = "DURATION",
            description = "Half-width of the window (default 1h).")
    long tolerance;

    @Option(names = "--list", defaultValue = "20", paramLabel = "N", description = "List the first N matches (default 20).")
    int list;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        long stepKhz = DriftPolicyCommand.parseStepKhz(step);
        Inputs.boundedSeconds("--around", around, DriftPolicyCommand.MAX_SPAN_NS);
        Inputs.boundedSeconds("--around plus --tolerance", around + tolerance, DriftPolicyCommand.MAX_SPAN_NS);
        if (fromKhz < SeedFigure.MIN_KHZ) {
            throw UserError.badInput("--from must be at least 1GHz: below it a cycle is longer than 1 ns and the"
                    + " exact search does not apply");
        }
        if (toKhz < fromKhz) {
            throw UserError.badInput("--to must not be below --from");
        }
        if (targetNs <= 0 || list < 0 || tolerance > around) {
            throw UserError.badInput("need --target > 0, --list >= 0 and --tolerance <= --around");
        }
        PrintWriter err = spec.commandLine().getErr();
        long total = (toKhz - fromKhz) / stepKhz + 1;
        long start = System.nanoTime();
        SeedFigure.Result r = SeedFigure.search(fromKhz, toKhz, stepKhz, targetNs, around - tolerance,
                around + tolerance, list, n -> {
                    if (total > 65_536) {
                        err.printf("kvmclock: seed004 %,d / %,d frequencies (%.1f s)%n", n, total,
                                (System.nanoTime() - start) / 1e9);
                        err.flush();
                    }
                });
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("targetNs", r.targetNs());
            root.put("windowStartSeconds", r.windowStart());
            root.put("windowEndSeconds", r.windowEnd());
            root.put("fromKhz", r.fromKhz());
            root.put("toKhz", r.toKhz());
            root.put("stepKhz", r.stepKhz());
            root.put("criterion", "exists a host cycle count in the window with |step| == target");
            root.put("frequencies", r.frequencies());
            root.put("matches", r.matches());
            root.put("forwardMatches", r.forwardMatches());
            root.put("backwardMatches", r.matches() - r.forwardMatches());
            root.put("wholeSecondMatches", r.wholeSecondMatches());
            root.put("borderlineScanned", r.borderlineScanned());
            ArrayNode a = root.putArray("listed");
            for (SeedFigure.Match m : r.listed()) {
                ObjectNode o = a.addObject().put("tscKhz", m.tscKhz()).put("stepAtStartNs", m.stepAtStartNs())
                        .put("stepAtEndNs", m.stepAtEndNs());
                if (m.atWholeSecond()) {
                    o.put("wholeSecond", m.wholeSecond().getAsLong());
                } else {
                    o.putNull("wholeSecond");
                }
            }
            out.println(Json.write(root));
            return ExitCode.OK;
        }
        Table t = new Table();
        t.row("target", String.format("%,d ns", r.targetNs()), "either sign");
        t.row("window", Durations.format(r.windowStart()) + " .. " + Durations.format(r.windowEnd()),
                "any host cycle count in it");
        t.row("frequencies searched", String.format("%,d", r.frequencies()),
                String.format("%,d .. %,d kHz step %,d kHz", r.fromKhz(), r.toKhz(), r.stepKhz()));
        t.row("MATCHING frequencies", String.format("%,d", r.matches()), String.format("%,d forward, %,d backward",
                r.forwardMatches(), r.matches() - r.forwardMatches()));
        t.row("  of which at a whole second", String.format("%,d", r.wholeSecondMatches()), "");
        t.row("  near-misses scanned", String.format("%,d", r.borderlineScanned()), "cycle by cycle");
        t.print(out);
        if (!r.listed().isEmpty()) {
            out.println();
            out.printf("%14s  %16s  %16s  %s%n", "tsc_khz", "step at start", "step at end", "whole second hitting it");
            for (SeedFigure.Match m : r.listed()) {
                out.printf("%14s  %16s  %16s  %s%n", String.format("%,d", m.tscKhz()),
                        String.format("%,d", m.stepAtStartNs()), String.format("%,d", m.stepAtEndNs()),
                        m.atWholeSecond() ? Durations.format(m.wholeSecond().getAsLong()) : "-");
            }
            if (r.matches() > r.listed().size()) {
                out.printf("... and %,d more (--list N to see more)%n", r.matches() - r.listed().size());
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
