package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.drift.Durations;
import io.kvmclock.drift.RefreshPolicy;
import io.kvmclock.drift.StepChart;
import io.kvmclock.files.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "policy",
        mixinStandardHelpOptions = true,
        description = {
            "How often the master clock must be refreshed to keep steps within a budget.",
            "",
            "The longest master clock refresh period that keeps every guest step within",
            "--max-jump ns: the largest whole number of seconds P with |step(s)| <=",
            "budget for every whole second s <= P (and |step(P+1)| > budget), found with",
            "exact integer steps, and what it costs in refreshes per day. With --range, a",
            "sweep over host frequencies naming the worst. --chart writes an SVG of",
            "|step| against time since the last refresh."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock drift policy --max-jump 1000 --tsc-khz 2596138",
            "  kvmclock drift policy --max-jump 100us --range 1GHz-5GHz --step 1MHz --json",
            "  kvmclock drift policy --max-jump 1ms --tsc-khz 2596138 --chart steps.svg --chart-freqs 2596138,2995200"
        })
final class DriftPolicyCommand implements Callable<Integer> {
    /** JSON lists every frequency of a sweep only up to this many (else only the summary). */
    static final int JSON_LIST_LIMIT = 10_000;

    /**
     * The longest time axis a chart or search takes: at 10 GHz, the top of every frequency option, ten years
     * of cycles still fit in 64 bits (2^63 cycles last 29 years there).
     */
    static final long MAX_SPAN_NS = 3_650L * 86_400 * Inputs.NS_PER_S;

    @Option(names = "--max-jump", required = true, paramLabel = "NS", converter = DurationNsConverter.OrBareNs.class,
            description = "Step budget: ns, or with a unit (100us, 1ms, 1ms500us).")
    long maxJump;

    @Option(names = "--tsc-khz", converter = FrequencyConverter.class, paramLabel = "FREQ",
            description = "One host TSC frequency.")
    Long tscKhz;

    @Option(names = "--range", paramLabel = "FROM-TO", converter = FrequencyConverter.RangeConverter.class,
            description = "A sweep, e.g. 1GHz-5GHz or 2500000-2700000.")
    FrequencyConverter.Range range;

    @Option(names = "--step", paramLabel = "FREQ", defaultValue = "1MHz", converter = FrequencyConverter.Step.class,
            description = "Sweep step (default 1MHz; 1kHz is the finest).")
    long stepKhz;

    @Option(names = "--chart", paramLabel = "FILE.svg", description = "Write an SVG chart of |step| over time.")
    Path chart;

    @Option(names = "--chart-freqs", split = ",", converter = FrequencyConverter.class, paramLabel = "FREQ",
            description = "Frequencies to chart (default: --tsc-khz, or the sweep's worst and best).")
    List<Long> chartFreqs;

    @Option(names = "--chart-span", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "Time axis of the chart (default: twice the longest charted period, at least 1m).")
    Long chartSpan;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        long budget = maxJump;
        if ((tscKhz == null) == (range == null)) {
            throw UserError.badInput("give exactly one of --tsc-khz FREQ or --range FROM-TO");
        }
        if (chart != null && !chart.toString().toLowerCase(Locale.ROOT).endsWith(".svg")) {
            throw UserError.badInput("--chart " + chart + ": the chart is SVG, name the file *.svg");
        }
        if (chart != null) {
            Inputs.outputFile("--chart", chart);
        }
        if (chartSpan != null) {
            Inputs.boundedSeconds("--chart-span", chartSpan, MAX_SPAN_NS);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Long> charted;
        if (tscKhz != null) {
            RefreshPolicy.Policy p = RefreshPolicy.longestPeriod(tscKhz, budget);
            charted = chartFreqs != null ? chartFreqs : List.of(tscKhz);
            if (json) {
                ObjectNode root = Json.object();
                root.put("maxJumpNs", budget);
                put(root, p);
                out.println(Json.write(root));
                return writeChart(charted, budget, out, err);
            }
            Table t = new Table();
            t.row("TSC frequency", String.format("%,d kHz", p.tscKhz()), "");
            t.row("step budget", String.format("%,d ns", budget), "");
            rows(t, p);
            t.print(out);
            return writeChart(charted, budget, out, err);
        }
        long total = (range.toKhz() - range.fromKhz()) / stepKhz + 1;
        boolean slow = total > 100_000;
        RefreshPolicy.Sweep sweep = RefreshPolicy.sweep(range.fromKhz(), range.toKhz(), stepKhz, budget, n -> {
            if (slow) {
                err.printf("kvmclock: policy sweep %,d / %,d frequencies%n", n, total);
                err.flush();
            }
        });
        charted = chartFreqs != null ? chartFreqs : List.of(sweep.worst().tscKhz(), sweep.best().tscKhz());
        if (json) {
            ObjectNode root = Json.object();
            root.put("maxJumpNs", budget);
            root.put("fromKhz", range.fromKhz());
            root.put("toKhz", range.toKhz());
            root.put("stepKhz", stepKhz);
            root.put("frequencies", sweep.policies().size());
            put(root.putObject("worst"), sweep.worst());
            put(root.putObject("best"), sweep.best());
            if (sweep.policies().size() <= JSON_LIST_LIMIT) {
                ArrayNode a = root.putArray("policies");
                for (RefreshPolicy.Policy p : sweep.policies()) {
                    put(a.addObject(), p);
                }
            }
            out.println(Json.write(root));
            return writeChart(charted, budget, out, err);
        }
        Table t = new Table();
        t.row("sweep", String.format("%,d .. %,d kHz", range.fromKhz(), range.toKhz()),
                String.format("step %,d kHz, %,d frequencies", stepKhz, sweep.policies().size()));
        t.row("step budget", String.format("%,d ns", budget), "");
        t.row("WORST frequency", String.format("%,d kHz", sweep.worst().tscKhz()), "needs the most refreshes");
        rows(t, sweep.worst());
        t.row("best frequency", String.format("%,d kHz", sweep.best().tscKhz()), "");
        rows(t, sweep.best());
        t.print(out);
        return writeChart(charted, budget, out, err);
    }

    private static void rows(Table t, RefreshPolicy.Policy p) {
        if (p.periodSeconds().isEmpty()) {
            t.row("  longest refresh period", "unbounded",
                    "no whole second within " + Durations.format(p.horizonSeconds()) + " breaks the budget");
            return;
        }
        long period = p.periodSeconds().getAsLong();
        t.row("  longest refresh period", Durations.format(period), String.format("%,d s; step then %,d ns", period,
                p.stepAtPeriodNs()));
        t.row("  one second later", String.format("%,d ns", p.stepAfterPeriodNs()), "over budget");
        t.row("  refreshes per day", period == 0 ? "every second is too many" : String.format("%,d", p.refreshesPerDay()),
                "");
    }

    private static void put(ObjectNode o, RefreshPolicy.Policy p) {
        o.put("tscKhz", p.tscKhz());
        if (p.periodSeconds().isPresent()) {
            o.put("periodSeconds", p.periodSeconds().getAsLong());
            o.put("stepAtPeriodNs", p.stepAtPeriodNs());
            o.put("stepAfterPeriodNs", p.stepAfterPeriodNs());
            o.put("refreshesPerDay", p.refreshesPerDay());
        } else {
            o.putNull("periodSeconds");
            o.put("refreshesPerDay", 0);
        }
    }

    /** Writes the chart once the results are printed, so a failed write never loses a long sweep. */
    private int writeChart(List<Long> freqs, long budget, PrintWriter out, PrintWriter err) {
        out.flush();
        if (chart == null) {
            return ExitCode.OK;
        }
        long span = chartSpan != null ? chartSpan : 60;
        if (chartSpan == null) {
            for (long f : freqs) {
                RefreshPolicy.Policy p = RefreshPolicy.longestPeriod(f, budget);
                if (p.periodSeconds().isPresent()) {
                    span = Math.max(span, 2 * p.periodSeconds().getAsLong());
                }
            }
        }
        if (span <= 0) {
            throw UserError.badInput("--chart-span must be positive");
        }
        try {
            AtomicFiles.write(chart, StepChart.svg(new ArrayList<>(freqs), Math.min(span, MAX_SPAN_NS / Inputs.NS_PER_S), budget));
        } catch (IOException e) {
            throw Inputs.unwritten("chart", chart, e, "");
        }
        err.println("kvmclock: wrote " + chart);
        err.flush();
        return ExitCode.OK;
    }
}
