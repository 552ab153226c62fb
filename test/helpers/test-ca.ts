// A throwaway CA and server certificates for HTTPS tests (keys from node:crypto, X.509 from node-forge).
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface Issued {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 fingerprint as node:tls reports it (AA:BB:...). */
  readonly fingerprint256: string;
}

export interface TestCa extends Issued {
  issue(commonName: string): Issued;
}

function keyPair(): { publicKey: forge.pki.PublicKey; privateKey: forge.pki.rsa.PrivateKey; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey: forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey,
    keyPem,
  };
}

function baseCertificate(publicKey: forge.pki.PublicKey, commonName: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = '01' + randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  return cert;
}

function finish(cert: forge.pki.Certificate, signer: forge.pki.rsa.PrivateKey, keyPem: string): Issued {
  cert.sign(signer, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  return { certPem, keyPem, fingerprint256: new X509Certificate(certPem).fingerprint256 };
}

export function createTestCa(): TestCa {
  const ca = keyPair();
  const caCert = baseCertificate(ca.publicKey, 'ws-sidecar test CA');
  caCert.setIssuer(caCert.subject.attributes);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  const issuedCa = finish(caCert, ca.privateKey, ca.keyPem);
  return {
    ...issuedCa,
    issue(commonName: string): Issued {
      const leaf = keyPair();
      const cert = baseCertificate(leaf.publicKey, commonName);
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
      ]);
      return finish(cert, ca.privateKey, leaf.keyPem);
    },
  };
}
