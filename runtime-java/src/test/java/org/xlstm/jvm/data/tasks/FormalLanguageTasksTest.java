package org.xlstm.jvm.data.tasks;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.data.Batch;

class FormalLanguageTasksTest {
    private static final List<FormalLanguageTask> OFFICIAL = List.of(
            Parity.official(), ModularArithmetic.official(), CycleNavigation.official(), EvenPairs.official());

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
        return v;
    }

    /** The official generator's sequences: our answer rule and our mask/shift reproduce the official outputs. */
    @Test
    void matchesSequencesOfTheOfficialGenerators() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("official_formal_language_samples.json")) {
            root = new ObjectMapper().readTree(in);
        }
        assertEquals(FormalLanguageTask.OFFICIAL_CONTEXT_LENGTH, root.get("context_length").asInt());
        int checked = 0;
        for (FormalLanguageTask task : OFFICIAL) {
            JsonNode t = root.get("tasks").get(task.name());
            assertEquals(task.vocabSize(), t.get("vocab_size").asInt(), task.name() + " official default vocabulary");
            for (JsonNode s : t.get("samples")) {
                int[] seq = ints(s.get("sequence"));
                int[] mask = ints(s.get("mask"));
                int size = -1;
                for (int i = 0; i < mask.length; i++) if (mask[i] == 1) { assertEquals(-1, size, "one answer"); size = i + 1; }
                FormalLanguageTask split = task.withLengths(s.get("min").asInt(), s.get("max").asInt());
                assertTrue(size >= lowest(split) && size <= highest(split), task.name() + " length " + size);
                int[] body = Arrays.copyOf(seq, size);
                assertAlphabet(split, body);
                assertEquals(seq[size - 1], split.answer(body), task.name() + " answer of " + Arrays.toString(body));

                boolean[] answer = new boolean[seq.length];
                for (int i = 0; i < seq.length; i++) answer[i] = mask[i] == 1;
                Example e = Example.maskedAndShifted(seq, answer);
                assertArrayEquals(ints(s.get("inputs")), e.inputs(), task.name() + " masked inputs");
                assertArrayEquals(ints(s.get("targets")), e.targets(), task.name() + " shifted targets");
                checked++;
            }
        }
        assertEquals(4 * 50, checked);
    }

    /** The tokens each task draws, by position: what the official generators draw too. */
    private static void assertAlphabet(FormalLanguageTask task, int[] body) {
        int size = body.length, v = task.vocabSize();
        for (int t = 0; t < size - 1; t++) {
            int x = body[t];
            switch (task) {
                case ModularArithmetic m -> {
                    if (t == size - 2) assertEquals(ModularArithmetic.EQUALS, x);
                    else if (t % 2 == 0) assertTrue(x >= 5 && x < v, "number token " + x);
                    else assertTrue(x >= 1 && x <= 3, "operator token " + x);
                }
                case CycleNavigation c -> assertTrue(x >= 1 && x <= 2 * c.maxStep() + 1, "move token " + x);
                default -> assertTrue(x >= 1 && x < v, "symbol token " + x);
            }
        }
        if (task instanceof ModularArithmetic) assertEquals(1, size % 2, "modular arithmetic lengths are odd");
    }

    @Test
    void generatedExamplesFollowTheOfficialSettingsAndCoverEveryLength() {
        for (FormalLanguageTask task : OFFICIAL) {
            for (FormalLanguageTask split : List.of(task, task.officialEvaluation())) {
                TaskDataset data = new TaskDataset(split, 1, 7);
                Set<Integer> lengths = new TreeSet<>();
                Set<Integer> answers = new HashSet<>();
                int n = split == task ? 3000 : 800;
                for (int i = 0; i < n; i++) {
                    Example e = data.example(i);
                    int[] body = sequenceOf(e);
                    int size = body.length;
                    assertTrue(size >= lowest(split) && size <= highest(split), split.describe() + " length " + size);
                    lengths.add(size);
                    assertAlphabet(split, body);
                    assertEquals(body[size - 1], split.answer(body));
                    answers.add(body[size - 1]);
                }
                int step = task instanceof ModularArithmetic ? 2 : 1;
                int lo = lowest(split), hi = highest(split);
                if (split == task) assertEquals((hi - lo) / step + 1, lengths.size(), split.describe() + " lengths seen: " + lengths);
                else assertTrue(lengths.size() > (hi - lo) / step / 2, split.describe() + " lengths seen: " + lengths);
                int expectedAnswers = switch (task) {
                    case ModularArithmetic m -> m.modulus();
                    case CycleNavigation c -> c.cycleSize();
                    default -> task.vocabSize() - 1;
                };
                assertEquals(expectedAnswers, answers.size(), task.name() + " answers seen: " + answers);
            }
        }
    }

    /**
     * Shortest and longest sequence a split draws. Modular arithmetic draws odd lengths 2·U[⌊(min+1)/2⌋, ⌊(max+1)/2⌋]−1,
     * so officially its 40..256 split starts at 39 and ends at 255.
     */
    private static int lowest(FormalLanguageTask t) {
        return t instanceof ModularArithmetic ? 2 * Math.min((t.minLength() + 1) / 2, (t.maxLength() + 1) / 2) - 1 : t.minLength();
    }

    private static int highest(FormalLanguageTask t) {
        return t instanceof ModularArithmetic ? 2 * ((t.maxLength() + 1) / 2) - 1 : t.maxLength();
    }

    /** Rebuilds the unshifted sequence (answer last) from a masked, shifted example. */
    private static int[] sequenceOf(Example e) {
        int answerAt = -1;
        for (int t = 0; t < e.length(); t++) if (e.targets()[t] != Batch.IGNORE) { assertEquals(-1, answerAt); answerAt = t; }
        assertEquals(e.length() - 1, answerAt, "the answer is predicted at the last input position");
        int[] seq = Arrays.copyOf(e.inputs(), e.length() + 1);
        seq[e.length()] = e.targets()[answerAt];
        for (int x : e.inputs()) assertNotEquals(Batch.PAD, x, "no pad inside an example");
        return seq;
    }

    @Test
    void parityAnswerIsTheParityOfTheCountOfTwos() {
        TaskDataset data = new TaskDataset(Parity.official(), 1, 11);
        for (int i = 0; i < 500; i++) {
            int[] seq = sequenceOf(data.example(i));
            long twos = Arrays.stream(seq, 0, seq.length - 1).filter(x -> x == 2).count();
            assertEquals(twos % 2 == 0 ? 1 : 2, seq[seq.length - 1]);
        }
    }

    @Test
    void evenPairsAnswerIsWhetherTheCountOfAbAndBaPairsIsEven() {
        TaskDataset data = new TaskDataset(EvenPairs.official(), 1, 12);
        for (int i = 0; i < 500; i++) {
            int[] seq = sequenceOf(data.example(i));
            int changes = 0;
            for (int t = 1; t < seq.length - 1; t++) if (seq[t] != seq[t - 1]) changes++;
            assertEquals(changes % 2 == 0 ? 1 : 2, seq[seq.length - 1]);
        }
    }

    @Test
    void cycleNavigationAnswerIsTheEndPositionOfTheWalk() {
        CycleNavigation task = new CycleNavigation(12, 2, 3, 40, 64);
        TaskDataset data = new TaskDataset(task, 1, 13);
        for (int i = 0; i < 500; i++) {
            int[] seq = sequenceOf(data.example(i));
            int pos = 0;  // walk on a cycle of 12-2-4 = 6: moves 0, +1, +2, -1, -2
            for (int t = 0; t < seq.length - 1; t++) {
                int move = new int[] {0, 0, 1, 2, -1, -2}[seq[t]];
                pos = ((pos + move) % 6 + 6) % 6;
            }
            assertEquals(pos + 6, seq[seq.length - 1]);
        }
    }

    @Test
    void modularArithmeticAnswerIsTheExactValueWithPrecedence() {
        TaskDataset data = new TaskDataset(ModularArithmetic.official().officialEvaluation(), 1, 14);
        for (int i = 0; i < 300; i++) {
            int[] seq = sequenceOf(data.example(i));
            // Exact value with big integers: split into +/- terms, each term a product.
            BigInteger total = BigInteger.ZERO, term = BigInteger.valueOf(seq[0] - 5);
            int sign = 1;
            for (int t = 1; t < seq.length - 2; t += 2) {
                BigInteger x = BigInteger.valueOf(seq[t + 1] - 5);
                if (seq[t] == 3) term = term.multiply(x);
                else {
                    total = total.add(sign > 0 ? term : term.negate());
                    sign = seq[t] == 2 ? -1 : 1;
                    term = x;
                }
            }
            total = total.add(sign > 0 ? term : term.negate());
            assertEquals(total.mod(BigInteger.valueOf(5)).intValue() + 5, seq[seq.length - 1]);
        }
    }

    @Test
    void batchesArePaddedToTheContextLikeTheOfficialDataset() {
        TaskDataset data = new TaskDataset(Parity.official(), 8, 3);
        Batch b = data.batch(5);
        assertEquals(8, b.batchSize());
        assertEquals(255, b.seqLen(), "context 256 shifted by one");
        for (int r = 0; r < 8; r++) {
            Example e = data.example(5 * 8 + r);
            int[] rowIn = Arrays.copyOfRange(b.inputs(), r * 255, r * 255 + 255);
            int[] rowOut = Arrays.copyOfRange(b.targets(), r * 255, r * 255 + 255);
            assertArrayEquals(e.inputs(), Arrays.copyOf(rowIn, e.length()));
            assertArrayEquals(e.targets(), Arrays.copyOf(rowOut, e.length()));
            for (int t = e.length(); t < 255; t++) {
                assertEquals(Batch.PAD, rowIn[t]);
                assertEquals(Batch.IGNORE, rowOut[t]);
            }
        }
        assertEquals(8, b.scoredPositions(), "one answer per sequence");

        TaskDataset trimmed = new TaskDataset(Parity.official(), 8, 3, true);
        Batch t = trimmed.batch(5);
        int longest = 0;
        for (int r = 0; r < 8; r++) longest = Math.max(longest, data.example(40 + r).length());
        assertEquals(longest, t.seqLen());
        for (int r = 0; r < 8; r++)
            for (int i = 0; i < longest; i++) {
                assertEquals(b.inputs()[r * 255 + i], t.inputs()[r * longest + i]);
                assertEquals(b.targets()[r * 255 + i], t.targets()[r * longest + i]);
            }
    }

    @Test
    void sameSeedSameBatchesInAnyOrderAndOtherSeedsDiffer() {
        for (FormalLanguageTask task : OFFICIAL) {
            TaskDataset a = new TaskDataset(task, 4, 42), b = new TaskDataset(task, 4, 42), c = new TaskDataset(task, 4, 43);
            Batch a3 = a.batch(3);
            a.batch(0);
            assertEquals(a3, a.batch(3));
            assertEquals(a3, b.batch(3));
            assertNotEquals(a3, c.batch(3));
            assertNotEquals(a3, a.batch(4));
        }
    }

    @Test
    void impossibleSettingsAreRejectedWithTheReason() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Parity(3, 3, 300, 256));
        assertTrue(e.getMessage().contains("max_sequence_length 300 exceeds context_length 256"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new EvenPairs(3, 2, 40, 256));
        assertTrue(e.getMessage().contains("min_sequence_length 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new CycleNavigation(5, 1, 3, 40, 256));
        assertTrue(e.getMessage().contains("vocab_size >= 6"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tasks.official("palindrome"));
        assertTrue(e.getMessage().contains("known tasks: parity"), e.getMessage());
    }
}
