package org.xlstm.jvm.data.tasks;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.data.Batch;

class MqarTest {
    @Test
    void everyQueryAsksForTheValueStoredWithItsKey() {
        Mqar task = new Mqar(128, 64, 8);
        TaskDataset data = new TaskDataset(task, 1, 5);
        for (int i = 0; i < 300; i++) {
            Example e = data.example(i);
            assertEquals(64, e.length());
            Map<Integer, Integer> store = new HashMap<>();
            Set<Integer> values = new HashSet<>();
            for (int j = 0; j < 8; j++) {
                int k = e.inputs()[2 * j], v = e.inputs()[2 * j + 1];
                assertTrue(k >= 1 && k < 64, "key " + k);
                assertTrue(v >= 64 && v < 128, "value " + v);
                assertNull(store.put(k, v), "keys are distinct");
                assertTrue(values.add(v), "values are distinct");
                assertEquals(Batch.IGNORE, e.targets()[2 * j]);
                assertEquals(Batch.IGNORE, e.targets()[2 * j + 1]);
            }
            Set<Integer> asked = new HashSet<>();
            for (int t = 16; t < 64; t++) {
                if (e.targets()[t] == Batch.IGNORE) continue;
                assertEquals(0, (t - 16) % 2, "queries sit at even offsets of the query region");
                int key = e.inputs()[t];
                assertEquals(store.get(key), e.targets()[t], "query " + key + " at " + t);
                assertTrue(asked.add(key));
            }
            assertEquals(store.keySet(), asked, "every key is queried once");
        }
    }

    @Test
    void queriesFollowThePowerLawAndFillersAreRandomOrZero() {
        Mqar task = new Mqar(256, 128, 4);
        int space = (128 - 8) / 2;
        int[] hits = new int[space];
        TaskDataset data = new TaskDataset(task, 1, 9);
        boolean sawNonZeroFiller = false;
        for (int i = 0; i < 2000; i++) {
            Example e = data.example(i);
            for (int t = 8; t < 128; t++) {
                if (e.targets()[t] != Batch.IGNORE) hits[(t - 8) / 2]++;
                else if (e.inputs()[t] != 0) sawNonZeroFiller = true;
            }
        }
        assertTrue(sawNonZeroFiller);
        // Weights ∝ (g+1)^-0.99: the first offset is drawn far more often than the last ones.
        int late = 0;
        for (int g = space - 10; g < space; g++) late += hits[g];
        assertTrue(hits[0] > 5 * late / 10, "first offset " + hits[0] + " vs late average " + late / 10.0);
        assertTrue(hits[0] > hits[1] && hits[1] > hits[5], java.util.Arrays.toString(hits));

        TaskDataset plain = new TaskDataset(new Mqar(256, 128, 4, 0.01, false), 2, 9);
        Batch b = plain.batch(0);
        for (int i = 0; i < b.inputs().length; i++) {
            int t = i % 128;
            if (t >= 8 && b.targets()[i] == Batch.IGNORE) assertEquals(0, b.inputs()[i]);
        }
        assertEquals(8, b.scoredPositions());
    }

    @Test
    void sizesAreCheckedWithTheReason() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Mqar(16, 64, 8));
        assertTrue(e.getMessage().contains("need vocab_size >= 18"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Mqar(256, 30, 8));
        assertTrue(e.getMessage().contains("at least 32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Mqar(256, 63, 4));
        assertTrue(e.getMessage().contains("even"), e.getMessage());
    }

    @Test
    void sameSeedSameData() {
        Mqar task = Tasks.mqar(256, 64, 8);
        assertEquals(new TaskDataset(task, 4, 1).batch(7), new TaskDataset(task, 4, 1).batch(7));
        assertNotEquals(new TaskDataset(task, 4, 1).batch(7), new TaskDataset(task, 4, 2).batch(7));
    }
}
