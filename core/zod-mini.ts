import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * zod's English messages for the `zod/mini` schemas on the functions' cold-start path (rotation event, revoker request,
 * secret value). `zod/mini` loads no locale by itself, and zod's classic API, which does, costs more at init than the
 * Secrets Manager client itself (docs/benchmarks.md). Import this module for its effect before parsing.
 */
config(en());
