/**
 * The landing storage: a container of ADLS Gen2 (or plain Blob Storage) and
 * a prefix inside it, reached through the Blob API, which both serve (and
 * Azurite emulates). Authenticated by a connection string when one is given
 * (Azurite's, locally), else by the managed identity (DefaultAzureCredential).
 */
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { TerminalError } from '../../errors.js';

export interface StorageLocation {
  /** The Blob endpoint of the account: https://acct.blob.core.windows.net, or Azurite's http://127.0.0.1:10000/devstoreaccount1. */
  endpoint: string;
  container: string;
  /** Folder inside the container, without leading or trailing slashes ('' for the root). */
  prefix: string;
}

const trimSlashes = (path: string) => path.replace(/^\/+|\/+$/g, '');

/**
 * Parses a landing URL: https://acct.dfs.core.windows.net/container/prefix,
 * https://acct.blob.core.windows.net/container/prefix,
 * abfss://container@acct.dfs.core.windows.net/prefix, or an emulator's
 * path-style http://127.0.0.1:10000/account/container/prefix.
 */
export function parseStorageUrl(text: string, field: string): StorageLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TerminalError(`${field}: "${text}" is not a URL; expected https://ACCOUNT.dfs.core.windows.net/CONTAINER/optional/prefix`);
  }
  if (url.protocol === 'abfss:' || url.protocol === 'abfs:') {
    const host = url.hostname.replace('.dfs.', '.blob.');
    if (!url.username) throw new TerminalError(`${field}: "${text}" names no container; expected abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/prefix`);
    return { endpoint: `https://${host}`, container: url.username, prefix: trimSlashes(decodeURIComponent(url.pathname)) };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TerminalError(`${field}: "${text}" must be an https:// or abfss:// URL of a storage container`);
  }
  const segments = trimSlashes(decodeURIComponent(url.pathname)).split('/').filter((s) => s);
  const pathStyle = /^(\d+\.\d+\.\d+\.\d+|localhost|\[.*\])$/.test(url.hostname);
  const account = pathStyle ? segments.shift() : undefined;
  const container = segments.shift();
  if (!container || (pathStyle && !account)) {
    throw new TerminalError(`${field}: "${text}" names no container; expected https://ACCOUNT.dfs.core.windows.net/CONTAINER/optional/prefix`);
  }
  const host = url.host.replace('.dfs.', '.blob.');
  return { endpoint: `${url.protocol}//${host}${account ? `/${account}` : ''}`, container, prefix: segments.join('/') };
}

export class BlobStore {
  private constructor(
    readonly location: StorageLocation,
    private readonly container: ContainerClient,
  ) {}

  static open(location: StorageLocation, connectionString?: string): BlobStore {
    const service = connectionString
      ? BlobServiceClient.fromConnectionString(connectionString)
      : new BlobServiceClient(location.endpoint, new DefaultAzureCredential());
    return new BlobStore(location, service.getContainerClient(location.container));
  }

  /** A path under the prefix. */
  path(...parts: string[]): string {
    return [this.location.prefix, ...parts].filter((p) => p).join('/');
  }

  /** Creates the container when missing (needs only Storage Blob Data Contributor). */
  async ensureContainer(): Promise<void> {
    await this.container.createIfNotExists();
  }

  async uploadFile(path: string, localPath: string): Promise<void> {
    await this.container.getBlockBlobClient(path).uploadFile(localPath, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
  }

  async uploadText(path: string, text: string, contentType: string): Promise<void> {
    await this.container.getBlockBlobClient(path).upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: contentType } });
  }

  async readText(path: string): Promise<string | null> {
    try {
      const buffer = await this.container.getBlockBlobClient(path).downloadToBuffer();
      return buffer.toString('utf8');
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw error;
    }
  }

  /** Blob names under a folder (recursively). */
  async list(folder: string): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix: `${trimSlashes(folder)}/` })) names.push(blob.name);
    return names;
  }

  async delete(names: string[]): Promise<void> {
    for (const name of names) await this.container.deleteBlob(name, { deleteSnapshots: 'include' }).catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
  }
}
