package org.xlstm.jvm.dsl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.xlstm.jvm.config.ConfigException;
import org.xlstm.jvm.config.ModelConfig;
import org.xlstm.jvm.config.SlstmLayerConfig;
import org.xlstm.jvm.config.XlstmConfig;
import org.xlstm.jvm.config.XlstmLargeConfig;
import org.xlstm.jvm.dsl.script.RecipeException;

/** The recipe API as Java code sees it (the examples of docs/dsl-reference.md). */
class RecipesFromJavaTest {
    private static final Path REPO = Path.of(System.getProperty("xlstm.repo", ".."));

    @Test
    void loadsARecipe() {
        Recipe recipe = Recipes.load(REPO.resolve("recipes/xlstm-7b.xlstm.kts"));
        ModelConfig model = recipe.getModel();
        assertEquals(XlstmLargeConfig.xlstm7b(), model);
        assertEquals("xLSTM-7B", recipe.getName());
        assertTrue(recipe.getSource().endsWith("xlstm-7b.xlstm.kts"));
    }

    @Test
    void theJavaBuilderMatchesTheDsl() {
        XlstmConfig java = XlstmConfig.builder()
                .vocabSize(50304).contextLength(2048).embeddingDim(768)
                .numBlocks(24).ratio(7, 1).slstm(SlstmLayerConfig.DEFAULTS)
                .build();
        XlstmConfig dsl = Models.xlstm(s -> {
            s.setVocabSize(50304);
            s.setContextLength(2048);
            s.setEmbeddingDim(768);
            s.blocks(24, b -> { b.ratio(7, 1); return kotlin.Unit.INSTANCE; });
            return kotlin.Unit.INSTANCE;
        });
        assertEquals(java, dsl);
    }

    @Test
    void errorsCarryFileAndLine() throws Exception {
        Path f = Files.createTempFile("bad", ".xlstm.kts");
        Files.writeString(f, "xlstm {\n    vocabSize = 0; contextLength = 4\n}\n");
        RecipeException e = assertThrows(RecipeException.class, () -> Recipes.load(f));
        assertEquals(f, e.getFile());
        assertEquals(1, e.getLine());
        assertEquals("vocab_size", e.getConfigErrors().getFirst().field());
        assertTrue(e.getCause() instanceof ConfigException);
    }
}
