/**
 * Reads a variable the harness exported for tests. A missing one means the test ran outside the
 * integration tier (or the component is not up): say so instead of failing obscurely.
 */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(
      `${name} is not set: run this test in the integration tier (npm run test:integ), which starts the stack`,
    );
  }
  return v;
}
