// Job actions shared by the jobs list and the job page.

import { post, del, jobPath } from './api.js';
import { confirmAction, toast } from './widgets.js';
import { plural } from './format.js';

function key(job) {
  return `${job.group}/${job.name}`;
}

// runJobAction performs action on job and reports the outcome in a toast. It
// resolves to the API's answer, or null when the user cancelled or it failed.
export async function runJobAction(action, job) {
  try {
    switch (action) {
      case 'pause': {
        const out = await post(jobPath(job.group, job.name, '/pause'));
        toast(`Paused ${key(job)}`);
        return out;
      }
      case 'resume': {
        const out = await post(jobPath(job.group, job.name, '/resume'));
        toast(`Resumed ${key(job)}`);
        return out;
      }
      case 'trigger': {
        const out = await post(jobPath(job.group, job.name, '/trigger'));
        const n = out && out.executions ? out.executions.length : 0;
        toast(`Fired ${key(job)} now: ${plural('execution', n)}`);
        return out;
      }
      case 'delete': {
        const ok = await confirmAction({
          title: `Delete ${key(job)}?`,
          text: 'The job stops firing and its definition is removed from the cluster. This cannot be undone.',
          ok: 'Delete job',
        });
        if (!ok) return null;
        await del(jobPath(job.group, job.name));
        toast(`Deleted ${key(job)}`);
        return {};
      }
      default:
        throw new Error(`unknown action ${action}`);
    }
  } catch (err) {
    if (err.name === 'AbortError') return null;
    toast(`Could not ${action} ${key(job)}: ${err.message}`, 'err');
    return null;
  }
}
