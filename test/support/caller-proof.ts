import { STSClient } from '@aws-sdk/client-sts';
import { proveCaller } from '../../cli/caller-proof';
import { CALLER_PROOF_FIELD, requestBinding } from '../../core/caller-proof';
import { LOCAL_REGION } from '../../local/stack';
import { PRINCIPAL_CREDENTIALS, type LocalCredentials } from '../../local/iam/principals';

/** `request` with the caller proof the CLI would attach, signed by `credentials` for the local endpoint. */
export async function proven<T extends object>(endpoint: string, request: T, credentials: LocalCredentials = PRINCIPAL_CREDENTIALS.admin): Promise<T> {
  const sts = new STSClient({ region: LOCAL_REGION, endpoint, credentials: { ...credentials } });
  return { ...request, [CALLER_PROOF_FIELD]: await proveCaller(sts, requestBinding(request)) };
}
