package org.xlstm.jvm.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * One progress line: {@code step 120/1000 [=====>        ] 12% loss 0.6931 lr 1.0e-03 12.3k tok/s ETA 1m23s}.
 * On a terminal the line is redrawn in place (carriage return, at most 5 times a second); otherwise (a log file,
 * CI) a full line is printed only when {@link #line} is called with {@code force}, i.e. at the trainer's log steps.
 */
public final class ConsoleProgress {
    private static final int BAR = 24;
    private final PrintStream out;
    private final boolean interactive;
    private long lastDrawNanos;
    private int lastLength;

    public ConsoleProgress(PrintStream out, boolean interactive) {
        this.out = out;
        this.interactive = interactive;
    }

    /** To standard error, redrawing in place when a console is attached. */
    public static ConsoleProgress toStderr() {
        return new ConsoleProgress(System.err, System.console() != null);
    }

    public void update(long step, long total, double loss, double lr, double tokensPerSecond, double etaSeconds, boolean force) {
        long now = System.nanoTime();
        if (interactive) {
            if (!force && step != total && now - lastDrawNanos < 200_000_000L) return;
            String s = line(step, total, loss, lr, tokensPerSecond, etaSeconds);
            out.print("\r" + s + " ".repeat(Math.max(0, lastLength - s.length())));
            lastLength = s.length();
            if (step == total) out.println();
            out.flush();
        } else if (force || step == total) {
            out.println(line(step, total, loss, lr, tokensPerSecond, etaSeconds));
        }
        lastDrawNanos = now;
    }

    /** Ends an in-place line before other output. */
    public void breakLine() {
        if (interactive && lastLength > 0) {
            out.println();
            lastLength = 0;
        }
    }

    static String line(long step, long total, double loss, double lr, double tokensPerSecond, double etaSeconds) {
        double frac = total <= 0 ? 1 : Math.min(1, (double) step / total);
        int filled = (int) Math.round(frac * BAR);
        String bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? (filled == BAR ? "=" : ">") : "") + " ".repeat(BAR - filled);
        return String.format(Locale.ROOT, "step %d/%d [%s] %3d%% loss %.4f lr %.1e %s tok/s ETA %s",
                step, total, bar, Math.round(frac * 100), loss, lr, human(tokensPerSecond), duration(etaSeconds));
    }

    static String human(double v) {
        if (!Double.isFinite(v)) return "-";
        if (v >= 1e6) return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        if (v >= 1e3) return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "-";
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        if (s >= 60) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return s + "s";
    }
}
