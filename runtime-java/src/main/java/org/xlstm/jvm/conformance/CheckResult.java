package org.xlstm.jvm.conformance;

/**
 * One checked quantity of one fixture case.
 *
 * @param error     normwise relative error ‖ours − reference‖ / ‖reference‖ (for token sequences: the fraction of
 *                  differing tokens); NaN when skipped
 * @param status    PASSED, FAILED or SKIPPED
 * @param note      why skipped or failed, or extra detail; may be empty
 */
public record CheckResult(String caseName, String quantity, double error, double tolerance, Status status, String note) {
    public enum Status { PASSED, FAILED, SKIPPED }

    public static CheckResult measured(String caseName, String quantity, double error, double tolerance, String note) {
        return new CheckResult(caseName, quantity, error, tolerance,
                error <= tolerance ? Status.PASSED : Status.FAILED, note);
    }

    public static CheckResult skipped(String caseName, String quantity, String why) {
        return new CheckResult(caseName, quantity, Double.NaN, Double.NaN, Status.SKIPPED, why);
    }

    public static CheckResult failed(String caseName, String quantity, String why) {
        return new CheckResult(caseName, quantity, Double.NaN, Double.NaN, Status.FAILED, why);
    }

    public boolean failed() { return status == Status.FAILED; }
}
