package org.xlstm.jvm.conformance;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/** Renders conformance results as a text table or as one JSON array. */
public final class ConformanceReport {
    private ConformanceReport() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public static String table(List<CheckResult> results) {
        int cw = "case".length(), qw = "quantity".length();
        for (CheckResult r : results) {
            cw = Math.max(cw, r.caseName().length());
            qw = Math.max(qw, r.quantity().length());
        }
        StringBuilder sb = new StringBuilder();
        String fmt = "%-" + cw + "s  %-" + qw + "s  %10s  %9s  %s%n";
        sb.append(String.format(Locale.ROOT, fmt, "case", "quantity", "error", "tolerance", "passed"));
        for (CheckResult r : results) {
            String passed = switch (r.status()) {
                case PASSED -> "yes";
                case FAILED -> "NO" + (r.note().isEmpty() || !Double.isNaN(r.error()) ? "" : "  (" + r.note() + ")");
                case SKIPPED -> r.note();
            };
            sb.append(String.format(Locale.ROOT, fmt, r.caseName(), r.quantity(), num(r.error()), num(r.tolerance()), passed));
        }
        return sb.toString();
    }

    private static String num(double v) { return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3e", v); }

    /** One JSON array of {"case","quantity","error","tolerance","passed"} (+ "status", "note"); skipped: nulls. */
    public static String json(List<CheckResult> results) {
        ArrayNode arr = JSON.createArrayNode();
        for (CheckResult r : results) {
            ObjectNode o = arr.addObject();
            o.put("case", r.caseName());
            o.put("quantity", r.quantity());
            if (Double.isNaN(r.error())) o.putNull("error"); else o.put("error", r.error());
            if (Double.isNaN(r.tolerance())) o.putNull("tolerance"); else o.put("tolerance", r.tolerance());
            if (r.status() == CheckResult.Status.SKIPPED) o.putNull("passed"); else o.put("passed", r.status() == CheckResult.Status.PASSED);
            o.put("status", r.status() == CheckResult.Status.SKIPPED ? Conformance.NOT_SUPPORTED : r.status().name().toLowerCase(Locale.ROOT));
            if (!r.note().isEmpty()) o.put("note", r.note());
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(arr);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
