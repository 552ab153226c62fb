// The native addon for tests. Where it cannot be built the native tests skip,
// except in CI (CI=true) or with WS_SIDECAR_REQUIRE_NATIVE=1, where its absence fails.
import { loadNativeAddon, type NativeAddon } from '../../proxy/data-path/native-addon.js';

export const NATIVE_REQUIRED = process.env.CI === 'true' || process.env.WS_SIDECAR_REQUIRE_NATIVE === '1';

export function nativeAddonForTests(): NativeAddon | undefined {
  const load = loadNativeAddon();
  if (load.ok) return load.addon;
  if (NATIVE_REQUIRED) throw new Error(`the native addon is required here: ${load.reason}`);
  return undefined;
}
