import { newKey } from '../src/crypto/encryption.js';
import { withEncryption } from '../src/store/encrypting.js';
import { createMemoryStore } from '../src/store/memory.js';
import { runStoreContract } from './store-contract.js';

const capabilities = { maintenance: false, nativeAcquire: false, nativeUpdate: false, connectionFeed: false, leaseListing: true };

runStoreContract('memory', { create: async () => createMemoryStore(), capabilities });

// The encrypting wrapper keeps every member of what it wraps, and the generic pool and update run over it.
const key = newKey();
runStoreContract('encrypted memory', {
  create: async () => withEncryption(createMemoryStore(), { ring: { current: key, all: [key] }, encryptWrites: true }),
  capabilities,
});
