/** Where secret values come from: a Key Vault, or the environment. */
export interface SecretSource {
  /** The value, or undefined when the source has no such secret. */
  get(secretName: string): Promise<string | undefined>;
  /** Where a name is looked up, for error messages ("Key Vault https://kv.vault.azure.net/"). */
  describe(secretName: string): string;
}
