export { AlertingProcessor, createAlertingProcessor } from './processor.js';
export type { AlertingProcessorOptions } from './processor.js';
export { SIGNATURE_HEADER, signWebhookBody, verifyWebhookSignature } from './signature.js';
export type { VerifyWebhookSignatureInput, WebhookSignatureVerdict } from './signature.js';
export { redactAttributes } from './redact.js';
export type {
  Alert, AlertAttrValue, AlertKind, AlertSeverity, AlertingStats, DeliveryFailure, DestinationStats, WebhookDestination, WebhookType,
} from './types.js';
