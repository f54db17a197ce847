package org.xlstm.jvm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The host side of the GPU embedding backward (runs without a GPU): positions grouped by token, each group in
 * position order, so the device adds repeated tokens' rows in the order the CPU does.
 */
class TokenGroupsTest {
    @Test
    void groupsPositionsByTokenInOrder() {
        int[] csr = CudaGradOps.tokenGroups(new int[] {3, 0, 3, 5, 0, 3});
        // tokens 0, 3, 5 | offsets 0, 2, 5, 6 | positions of 0: 1 4, of 3: 0 2 5, of 5: 3
        assertArrayEquals(new int[] {0, 3, 5, 0, 2, 5, 6, 1, 4, 0, 2, 5, 3}, csr);
        assertArrayEquals(new int[] {7, 0, 1, 0}, CudaGradOps.tokenGroups(new int[] {7}));
        assertArrayEquals(new int[] {0}, CudaGradOps.tokenGroups(new int[0]));
    }

    @Test
    void everyPositionOnceUnderItsToken() {
        SplittableRandom rnd = new SplittableRandom(3);
        int n = 5000;
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = rnd.nextInt(50304);
        int[] csr = CudaGradOps.tokenGroups(tokens);
        int u = (csr.length - 1 - n) / 2;
        assertEquals(csr.length, 2 * u + 1 + n);
        assertEquals(0, csr[u]);
        assertEquals(n, csr[2 * u]);
        boolean[] seen = new boolean[n];
        for (int g = 0; g < u; g++) {
            if (g > 0) assertTrue(csr[g] > csr[g - 1], "tokens ascending and distinct");
            assertTrue(csr[u + g + 1] > csr[u + g], "no empty group");
            for (int p = csr[u + g]; p < csr[u + g + 1]; p++) {
                int pos = csr[2 * u + 1 + p];
                assertEquals(csr[g], tokens[pos], "position " + pos + " under token " + csr[g]);
                if (p > csr[u + g]) assertTrue(pos > csr[2 * u + 1 + p - 1], "positions ascending within a group");
                assertTrue(!seen[pos], "position " + pos + " twice");
                seen[pos] = true;
            }
        }
        for (int i = 0; i < n; i++) assertTrue(seen[i], "position " + i + " missing");
    }
}
