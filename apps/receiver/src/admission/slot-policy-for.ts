import { type AdmissionSettings } from '../config/receiver-config';
import { AimdSlotPolicy } from './aimd-slot-policy';
import { FixedSlotPolicy, type SlotPolicy } from './slot-policy';

/** The slot policy the settings ask for; maxSessions is the fixed number or the adaptive ceiling. */
export function slotPolicyFor(settings: AdmissionSettings, maxSessions: number): SlotPolicy {
  if (settings.mode === 'fixed') return new FixedSlotPolicy(maxSessions);
  return new AimdSlotPolicy({ ceiling: maxSessions, targetLatencyMs: settings.commitLatencyTargetMs });
}
