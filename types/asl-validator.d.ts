// asl-validator ships JavaScript without types: the one call scripts/validate-asl.ts makes
declare module 'asl-validator' {
  interface ValidationResult {
    isValid: boolean;
    errors: Array<{ message?: string; path?: string } & Record<string, unknown>>;
    errorsText: (separator?: string) => string;
  }
  const validator: (definition: unknown, options?: Record<string, unknown>) => ValidationResult;
  export default validator;
}
